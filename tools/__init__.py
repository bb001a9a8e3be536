"""The online half of sandbox-bootstrap: builds bundles for a sandbox's profile."""
