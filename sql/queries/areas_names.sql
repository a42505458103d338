-- areas_names: every area's code and name, by name (for pickers). No parameters.
SELECT code, name FROM areas WHERE site = $site ORDER BY name, code;
