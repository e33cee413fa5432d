"""The state order for student dormitory places: the second funding instrument on the platform (app.instruments).

Private investors build or reconstruct dormitories; the education authority places an order for places in them
for students of colleges and universities who are not local residents; every month the dormitory submits an act of
occupied places (student IIN, institution BIN, course, room/bed, move-in/move-out dates), each line is checked
against the student registry, the dormitory's bed list and documents, and the operator pays per occupied place
per month at the contracted rate (by region and locality, from ``bpmn/dorm_place_rates.dmn``), pro rata by days.
"""
