"""The skills router: a pure decision core, its Redis state (Lua scripts) and the service that drives it."""
