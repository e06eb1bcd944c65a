;; _initialize calls a host function, which has no call to serve outside
;; agentbot_run: the host traps and instantiation fails.
(module
  (import "agentbot:skill/v1" "input_len" (func $input_len (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize") (drop (call $input_len)))
  (func (export "agentbot_run") (result i32) (i32.const 0)))
