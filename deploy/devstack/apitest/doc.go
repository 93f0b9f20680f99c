// Package apitest checks the REST API as a contract, through the real
// gateway in front of the three services on their in-memory repositories:
// bad input of every kind on every route is a 400 that names the field
// (badinput_test.go), and every GET answers what the OpenAPI document
// says (openapi_test.go).
package apitest
