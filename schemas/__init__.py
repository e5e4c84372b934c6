"""Versioned contracts of nazorg: pydantic v2 models for every topic and API body.

Import from the submodules (``schemas.payments``, ``schemas.codec``, ...); this package
deliberately re-exports nothing so that each name has exactly one import path.
"""
