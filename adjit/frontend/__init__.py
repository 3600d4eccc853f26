"""Source text -> syntax tree (`parser`) -> IR (the lowering)."""
from adjit.frontend.parser import parse_function_source, parse_module

__all__ = ["parse_function_source", "parse_module"]
