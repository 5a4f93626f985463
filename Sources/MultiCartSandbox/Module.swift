// The MultiCartSandbox module; see docs/architecture.md.
