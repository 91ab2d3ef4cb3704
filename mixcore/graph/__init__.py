"""The routing graph (nodes and edges) and its compilation into a render plan."""
from .graph import Edge, Graph, Node
from .plan import RenderPlan, compile_plan

__all__ = ["Edge", "Graph", "Node", "RenderPlan", "compile_plan"]
