;; agentbot_run never returns: the call's deadline must stop it.
(module
  (memory (export "memory") 1)
  (func (export "agentbot_run") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
