"""The built-in demo: synthesised stems and a session that uses the whole router."""
from .project import write_demo_project

__all__ = ["write_demo_project"]
