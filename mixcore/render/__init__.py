"""Running a compiled plan: sources, engine, automation, writers."""
