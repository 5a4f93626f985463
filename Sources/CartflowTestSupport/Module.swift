// The CartflowTestSupport module; see docs/architecture.md.
