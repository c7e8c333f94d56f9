"""HLS code generation: a folded DataflowGraph -> a Vitis HLS / Vivado project (see project.py for the layout)."""
from compiler.codegen.project import (DEFAULT_BOARD, Project, generate_project, library_dir, load_build,
                                      project_for_build, stream_metadata)

__all__ = ["DEFAULT_BOARD", "Project", "generate_project", "library_dir", "load_build", "project_for_build",
           "stream_metadata"]
