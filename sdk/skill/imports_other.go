//go:build !wasip1

package skill

import "unsafe"

// Outside the sandbox every host function reports errnoNotInSandbox, so that
// skills (and this package) build, vet and unit-test on the host.

func hostInputLen() int32                                            { return errnoNotInSandbox }
func hostInputRead(unsafe.Pointer)                                   {}
func hostOutputWrite(unsafe.Pointer, uint32) int32                   { return errnoNotInSandbox }
func hostFail(int32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) {}
func hostLogWrite(int32, unsafe.Pointer, uint32)                     {}
func hostResultRead(unsafe.Pointer)                                  {}
func hostKVGet(unsafe.Pointer, uint32) int64                         { return errnoNotInSandbox }
func hostKVSet(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { return errnoNotInSandbox }
func hostKVDelete(unsafe.Pointer, uint32) int32                      { return errnoNotInSandbox }
func hostKVList(unsafe.Pointer, uint32) int64                        { return errnoNotInSandbox }
func hostHTTPFetch(unsafe.Pointer, uint32) int64                     { return errnoNotInSandbox }
func hostConfigGet(unsafe.Pointer, uint32) int64                     { return errnoNotInSandbox }
