// Package opendatatest checks /opendata/ on the whole devstack with its
// demo data, as `make run` serves it: `curl -s localhost:8080/opendata/practices.csv | head -2`
// prints the header and the Tos.Ca. row, every table downloads in both
// formats, the DCAT-AP_IT catalogue names a dcat:Dataset per table whose
// distributions all answer, and a draft never appears (opendata_test.go).
package opendatatest
