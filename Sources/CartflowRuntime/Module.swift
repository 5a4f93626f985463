// The CartflowRuntime module; see docs/architecture.md.
