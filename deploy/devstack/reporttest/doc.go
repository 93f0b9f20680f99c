// Package reporttest checks, on the whole devstack with the demo data, the
// reports of a twinning: drafted from what the Tos.Ca. twinning recorded,
// submitted by its editor, approved by the coordinator and then public,
// downloaded as HTML and PDF (whose text is read back in Go: no pdftotext
// needed), with the state machine's refusals in clear words.
package reporttest
