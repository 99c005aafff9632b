raise ImportError("escbench_broken needs a package that is not installed (deliberate test failure)")
