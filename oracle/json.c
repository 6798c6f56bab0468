/*
 * A small recursive-descent JSON parser (RFC 8259 grammar), enough for the
 * trace lines of SPEC section 5.  Strings are decoded to UTF-8 (with \uXXXX
 * escapes and surrogate pairs); numbers keep their text.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p;
	const char *err;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static int parse_value(struct parser *ps, struct jval *out);

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int read_hex4(const char *s, unsigned *cp)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + (unsigned)h;
	}
	*cp = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decoded text is never longer than its escaped source. */
static char *parse_string(struct parser *ps)
{
	const char *s = ps->p + 1; /* after the opening quote */
	const char *e = s;
	while (*e && *e != '"') {
		if (*e == '\\' && e[1])
			e++;
		e++;
	}
	if (*e != '"') {
		ps->err = "unterminated string";
		return NULL;
	}
	char *out = malloc((size_t)(e - s) + 1);
	if (!out) {
		ps->err = "out of memory";
		return NULL;
	}
	size_t o = 0;
	const char *q = s;
	while (q < e) {
		unsigned char c = (unsigned char)*q;
		if (c < 0x20) {
			ps->err = "control character in string";
			free(out);
			return NULL;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			q++;
			continue;
		}
		q++;
		switch (*q) {
		case '"': out[o++] = '"'; q++; break;
		case '\\': out[o++] = '\\'; q++; break;
		case '/': out[o++] = '/'; q++; break;
		case 'b': out[o++] = '\b'; q++; break;
		case 'f': out[o++] = '\f'; q++; break;
		case 'n': out[o++] = '\n'; q++; break;
		case 'r': out[o++] = '\r'; q++; break;
		case 't': out[o++] = '\t'; q++; break;
		case 'u': {
			unsigned cp, lo;
			if (q + 5 > e || read_hex4(q + 1, &cp)) {
				ps->err = "bad \\u escape";
				free(out);
				return NULL;
			}
			q += 5;
			if (cp >= 0xD800 && cp < 0xDC00 && q + 6 <= e && q[0] == '\\' &&
			    q[1] == 'u' && !read_hex4(q + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				q += 6;
			}
			o += put_utf8(out + o, cp);
			break;
		}
		default:
			ps->err = "bad escape in string";
			free(out);
			return NULL;
		}
	}
	out[o] = 0;
	ps->p = e + 1;
	return out;
}

static int parse_number(struct parser *ps, struct jval *out)
{
	const char *s = ps->p, *q = s;
	int is_int = 1;
	if (*q == '-')
		q++;
	if (*q == '0') {
		q++;
	} else if (*q >= '1' && *q <= '9') {
		while (*q >= '0' && *q <= '9') q++;
	} else {
		ps->err = "bad number";
		return -1;
	}
	if (*q == '.') {
		is_int = 0;
		q++;
		if (!(*q >= '0' && *q <= '9')) { ps->err = "bad number"; return -1; }
		while (*q >= '0' && *q <= '9') q++;
	}
	if (*q == 'e' || *q == 'E') {
		is_int = 0;
		q++;
		if (*q == '+' || *q == '-') q++;
		if (!(*q >= '0' && *q <= '9')) { ps->err = "bad number"; return -1; }
		while (*q >= '0' && *q <= '9') q++;
	}
	out->type = J_NUM;
	out->num_is_int = is_int;
	out->str = malloc((size_t)(q - s) + 1);
	if (!out->str) { ps->err = "out of memory"; return -1; }
	memcpy(out->str, s, (size_t)(q - s));
	out->str[q - s] = 0;
	ps->p = q;
	return 0;
}

static int push(struct jval **items, size_t *n, size_t *cap, struct jval *v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct jval *ni = realloc(*items, nc * sizeof(**items));
		if (!ni)
			return -1;
		*items = ni;
		*cap = nc;
	}
	(*items)[(*n)++] = *v;
	return 0;
}

static void free_inner(struct jval *v);

static int parse_array(struct parser *ps, struct jval *out)
{
	size_t cap = 0;
	out->type = J_ARR;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == ']') { ps->p++; return 0; }
	for (;;) {
		struct jval item;
		memset(&item, 0, sizeof(item));
		if (parse_value(ps, &item))
			return -1;
		if (push(&out->items, &out->n, &cap, &item)) {
			free_inner(&item);
			ps->err = "out of memory";
			return -1;
		}
		skip_ws(ps);
		if (*ps->p == ',') { ps->p++; continue; }
		if (*ps->p == ']') { ps->p++; return 0; }
		ps->err = "expected ',' or ']' in array";
		return -1;
	}
}

static int parse_object(struct parser *ps, struct jval *out)
{
	size_t cap = 0, kcap = 0;
	out->type = J_OBJ;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == '}') { ps->p++; return 0; }
	for (;;) {
		skip_ws(ps);
		if (*ps->p != '"') { ps->err = "expected a string key"; return -1; }
		char *key = parse_string(ps);
		if (!key)
			return -1;
		if (out->n == kcap) {
			size_t nc = kcap ? kcap * 2 : 4;
			char **nk = realloc(out->keys, nc * sizeof(*nk));
			if (!nk) { free(key); ps->err = "out of memory"; return -1; }
			out->keys = nk;
			kcap = nc;
		}
		skip_ws(ps);
		if (*ps->p != ':') { free(key); ps->err = "expected ':'"; return -1; }
		ps->p++;
		struct jval item;
		memset(&item, 0, sizeof(item));
		if (parse_value(ps, &item)) { free(key); return -1; }
		out->keys[out->n] = key;
		if (push(&out->items, &out->n, &cap, &item)) {
			free(key);
			free_inner(&item);
			ps->err = "out of memory";
			return -1;
		}
		skip_ws(ps);
		if (*ps->p == ',') { ps->p++; continue; }
		if (*ps->p == '}') { ps->p++; return 0; }
		ps->err = "expected ',' or '}' in object";
		return -1;
	}
}

static int parse_value(struct parser *ps, struct jval *out)
{
	if (++ps->depth > 64) {
		ps->err = "nesting too deep";
		return -1;
	}
	skip_ws(ps);
	int r;
	switch (*ps->p) {
	case '{': r = parse_object(ps, out); break;
	case '[': r = parse_array(ps, out); break;
	case '"':
		out->type = J_STR;
		out->str = parse_string(ps);
		r = out->str ? 0 : -1;
		break;
	case 't':
		if (strncmp(ps->p, "true", 4)) { ps->err = "bad literal"; r = -1; break; }
		out->type = J_BOOL; out->boolean = 1; ps->p += 4; r = 0;
		break;
	case 'f':
		if (strncmp(ps->p, "false", 5)) { ps->err = "bad literal"; r = -1; break; }
		out->type = J_BOOL; out->boolean = 0; ps->p += 5; r = 0;
		break;
	case 'n':
		if (strncmp(ps->p, "null", 4)) { ps->err = "bad literal"; r = -1; break; }
		out->type = J_NULL; ps->p += 4; r = 0;
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			r = parse_number(ps, out);
		else {
			ps->err = *ps->p ? "unexpected character" : "unexpected end of input";
			r = -1;
		}
	}
	ps->depth--;
	return r;
}

static void free_inner(struct jval *v)
{
	if (!v)
		return;
	free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		free_inner(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

void json_free(struct jval *v)
{
	free_inner(v);
	free(v);
}

struct jval *json_parse(const char *text, const char **err)
{
	struct parser ps = { text, NULL, 0 };
	struct jval *v = calloc(1, sizeof(*v));
	if (!v) {
		*err = "out of memory";
		return NULL;
	}
	if (parse_value(&ps, v)) {
		*err = ps.err ? ps.err : "invalid JSON";
		json_free(v);
		return NULL;
	}
	skip_ws(&ps);
	if (*ps.p) {
		*err = "trailing characters after JSON value";
		json_free(v);
		return NULL;
	}
	return v;
}

struct jval *json_get(const struct jval *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (size_t i = obj->n; i-- > 0;)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}
