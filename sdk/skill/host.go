package skill

import (
	"fmt"
	"unsafe"
)

// errnoNotInSandbox is what the non-wasm stubs return; the host never does.
const errnoNotInSandbox = -100

// lastResult holds the buffer the host last wrote a pending result into. The
// notes on Go under wazero advise keeping every buffer the host writes to
// reachable from a package variable; the host never keeps a pointer past a
// call, so this is belt and braces.
var lastResult []byte

func bytesPtr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func readInput() ([]byte, error) {
	n := hostInputLen()
	if n < 0 {
		return nil, errnoError(int64(n))
	}
	buf := make([]byte, n)
	lastResult = buf
	hostInputRead(bytesPtr(buf))
	return buf, nil
}

// readResult fetches the pending result of n bytes announced by a host call.
func readResult(n int64) []byte {
	buf := make([]byte, n)
	lastResult = buf
	hostResultRead(bytesPtr(buf))
	return buf
}

func writeOutput(b []byte) error {
	switch n := hostOutputWrite(bytesPtr(b), uint32(len(b))); {
	case n == 0:
		return nil
	case n == ErrnoOutputFull:
		return ErrOutputTooLarge
	default:
		return errnoError(int64(n))
	}
}

func hostLog(level Level, msg string) {
	hostLogWrite(int32(level), stringPtr(msg), uint32(len(msg)))
}

func configGet(key string) ([]byte, error) {
	n := hostConfigGet(stringPtr(key), uint32(len(key)))
	switch {
	case n >= 0:
		return readResult(n), nil
	case n == ErrnoNotFound:
		return nil, nil
	default:
		return nil, errnoError(n)
	}
}

// run runs the registered handler for one call and reports its outcome to
// the host: 0 for success, 1 after recording the failure with fail.
func run() int32 {
	err := invoke(&Call{})
	lastResult = nil
	if err == nil {
		return 0
	}
	e := failure(err)
	hostFail(int32(e.Status), stringPtr(e.Code), uint32(len(e.Code)), stringPtr(e.Message), uint32(len(e.Message)))
	return 1
}

func invoke(c *Call) (err error) {
	if handler == nil {
		return &Error{Status: 500, Code: CodeNoHandler, Message: "the skill registered no handler"}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Status: 500, Code: CodeSkillPanic, Message: fmt.Sprint("panic: ", r)}
		}
	}()
	return handler(c)
}
