-- areas_names: every area's code and name, by name (for pickers). No parameters.
SELECT code, name FROM areas ORDER BY name, code;
