"""Memory: buffer lifetimes from op plans, the pure arena planner, the plan exported to TFLM, its plot."""
