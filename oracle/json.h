/*
 * A small JSON reader for the oracle's trace lines.
 *
 * Every value keeps its source text for numbers, so that the caller can
 * decide per field how an integer is wrapped (u64, s64, u32, int) and can
 * refuse fractions and exponents.  Nothing here knows about traces.
 */
#ifndef GMEM_ORACLE_JSON_H
#define GMEM_ORACLE_JSON_H

#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	int boolean;            /* J_BOOL */
	char *str;              /* J_STR: decoded, NUL-terminated; J_NUM: raw text */
	int num_is_int;         /* J_NUM: no fraction and no exponent */
	size_t n;               /* J_ARR / J_OBJ: number of items */
	struct jval *items;     /* J_ARR / J_OBJ values */
	char **keys;            /* J_OBJ keys */
};

/* Parse one complete JSON text; returns NULL and sets *err on failure. */
struct jval *json_parse(const char *text, const char **err);
void json_free(struct jval *v);
/* Member lookup in an object (the last occurrence wins, as in JSON.parse). */
struct jval *json_get(const struct jval *obj, const char *key);

#endif
