"""Views of graphs and results: number formatting, tables, explanations, pictures, notebooks."""
