// flame graph: filled in once report::flame lands
