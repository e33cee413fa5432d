"""Analytics for the ministry, departments, the operator and process owners (logged in, scoped like every page).

``flags``: red flags per school and region from the acts — where money leaks or the process stalls — with
drill-down to the acts (their pages show personal data only to roles that may see it). ``process``: per model
version, where time is spent and where instances wait now, SLA compliance of acceptance, throughput, and the
pilot's monitoring figures. Everything is read from the tables the audited operations write.
"""
