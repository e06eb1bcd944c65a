// Package pb is the generated wire code of the provider protocol. Regenerate
// with `make proto` (protoc 3.21, protoc-gen-go v1.36.12, protoc-gen-go-grpc v1.6.0).
package pb

//go:generate sh -c "cd ../../../.. && make proto"
