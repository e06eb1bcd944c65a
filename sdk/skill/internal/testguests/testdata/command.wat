;; A command module (exports _start): the host never runs one, so CheckImports
;; refuses it.
(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "agentbot_run") (result i32) (i32.const 0)))
