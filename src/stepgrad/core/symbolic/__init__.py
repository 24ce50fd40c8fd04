"""SymPy side of the registry: printing, differentiation by rules, code generation (imported only to generate)."""
