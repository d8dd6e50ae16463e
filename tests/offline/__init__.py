"""Offline harnesses: checks that drive Ansible's own controller-side machinery (inventory,
variables, play compilation, plugin loaders) without any managed host."""
