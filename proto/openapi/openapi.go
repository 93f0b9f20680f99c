// Package openapi embeds the OpenAPI document that `make proto` generates
// from the service definitions and their HTTP bindings.
package openapi

import _ "embed"

// JSON is the merged OpenAPI (Swagger 2.0) document of every REST endpoint.
//
//go:embed gemella.swagger.json
var JSON []byte
