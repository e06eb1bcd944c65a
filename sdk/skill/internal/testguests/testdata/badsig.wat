;; A module that imports from the ABI's module a function ABI v1 lacks and a
;; known function with the wrong signature: CheckImports must refuse both.
(module
  (import "agentbot:skill/v1" "spawn" (func (param i32 i32) (result i32)))
  (import "agentbot:skill/v1" "kv_get" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agentbot_run") (result i32) (i32.const 0)))
