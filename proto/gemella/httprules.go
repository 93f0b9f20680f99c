// Package gemella carries the HTTP bindings of every service (http.yaml, the
// gRPC API configuration that grpc-gateway and the OpenAPI generator read),
// so that the gateway can tell, for each route, which request message and
// which of its fields the body, the path and the query fill.
package gemella

import _ "embed"

// HTTPConfig is the content of http.yaml.
//
//go:embed http.yaml
var HTTPConfig []byte
