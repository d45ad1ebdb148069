"""CLI command modules: each defines register(app) and keeps heavy imports inside its commands.

May import: every stage (it parses, calls the stage's API function in bench.api, and prints).
Add here: a command is a module with register(app), listed in bench.cli.
"""
