;; agentbot_run grows its memory a page at a time until memory.grow fails,
;; then writes the final size in pages (i32, little-endian) as its output. The
;; runtime's memory limit must stop the growth.
(module
  (import "agentbot:skill/v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agentbot_run") (result i32)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (i32.store (i32.const 0) (memory.size))
    (drop (call $output_write (i32.const 0) (i32.const 4)))
    (i32.const 0)))
