"""The models behind the methods: each loaded once, batched, on the device picked at run time."""
