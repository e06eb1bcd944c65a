;; agentbot_run hands the host a pointer past the end of its memory: the host
;; function must trap rather than read it.
(module
  (import "agentbot:skill/v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agentbot_run") (result i32)
    (call $output_write (i32.const 65530) (i32.const 100))))
