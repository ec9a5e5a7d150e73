"""Reading results back and drawing them."""
