"""Mend's shared event plumbing. Import from the submodules; each holds one concern."""
