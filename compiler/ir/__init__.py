"""The dataflow IR: the graph and its layers (graph), the graph.json schema, integer datatypes and names."""
