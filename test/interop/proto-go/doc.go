// Package gen is where test/integration/protoc.test.ts builds the Go code protoc generates from
// contracts/proto: proof that the contracts generate cleanly for a Go bank or channel. go.sum pins
// the one module the generated code needs.
package gen

import _ "google.golang.org/protobuf/proto"
