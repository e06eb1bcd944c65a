;; agentbot_run traps.
(module
  (memory (export "memory") 1)
  (func (export "agentbot_run") (result i32)
    (unreachable)))
