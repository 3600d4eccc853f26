"""Code generators: llvm/ (CPU) and ptx/ (NVIDIA GPUs)."""
