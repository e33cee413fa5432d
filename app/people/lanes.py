"""The lanes our diagrams use, named after the role that works in them."""

from app.engine.lanes import register_lane
from app.people.roles import Role

for _name, _role in {
    "School accountant": Role.SCHOOL_ACCOUNTANT,
    "School director": Role.SCHOOL_DIRECTOR,
    "Dormitory accountant": Role.DORMITORY_ACCOUNTANT,
    "Dormitory director": Role.DORMITORY_DIRECTOR,
    "Department official": Role.DEPARTMENT_OFFICIAL,
    "Department head": Role.DEPARTMENT_HEAD,
    "Operator": Role.OPERATOR,
}.items():
    register_lane(_name, _role.value)
