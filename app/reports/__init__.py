"""Reports over verified acts (discrepancies by region and rule) and the month-wide verification job."""
