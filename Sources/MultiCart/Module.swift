// The MultiCart module; see docs/architecture.md.
