/*
 * The tables parsers fill: a string pool, symbols in file order, and
 * structure layouts with a name index. Growth is bounded by the caps in
 * profile.h, so a hostile file costs at most what those allow.
 */
#include "profile.h"

#define LX_POOL_MAX (1ull << 31) /* offsets are u32 */

/* Grows *p (n elements of size) to hold need. */
static bool grow(void **p, uint32_t *cap, size_t size, uint32_t need,
                 uint32_t max)
{
    uint32_t n = *cap ? *cap : 64;
    void *q;

    if (need > max)
        return false;
    if (need <= *cap)
        return true;
    while (n < need)
        n = n > max / 2 ? max : n * 2;
    q = realloc(*p, (size_t)n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

bool lx_pool_add(struct lx_pool *pool, const char *s, size_t n, uint32_t *off)
{
    size_t need;

    if (!pool->p) { /* offset 0: the empty string */
        pool->cap = 1 << 16;
        if (!(pool->p = malloc(pool->cap)))
            return false;
        pool->p[0] = '\0';
        pool->len = 1;
    }
    need = pool->len + n + 1;
    if (need > LX_POOL_MAX)
        return false;
    if (need > pool->cap) {
        size_t c = pool->cap;
        char *q;
        while (c < need)
            c *= 2;
        if (!(q = realloc(pool->p, c)))
            return false;
        pool->p = q;
        pool->cap = c;
    }
    memcpy(pool->p + pool->len, s, n);
    pool->p[pool->len + n] = '\0';
    *off = (uint32_t)pool->len;
    pool->len = need;
    return true;
}

/* ---- symbols ----------------------------------------------------------------- */

bool lx_psyms_add(struct lx_psyms *s, uint64_t addr, char type,
                  const char *name, size_t len)
{
    uint32_t cap = s->cap, off; /* both arrays grow alike from s->cap */
    char buf[LX_NAME_MAX];

    if (len == 0 || len + 1 >= sizeof(buf) ||
        !grow((void **)&s->addr, &cap, sizeof(*s->addr), s->n + 1,
              LX_PROFILE_MAX_SYMS) ||
        !grow((void **)&s->name, &s->cap, sizeof(*s->name), s->n + 1,
              LX_PROFILE_MAX_SYMS))
        return false;
    buf[0] = type;
    memcpy(buf + 1, name, len);
    if (!lx_pool_add(&s->pool, buf, len + 1, &off))
        return false;
    s->addr[s->n] = addr;
    s->name[s->n++] = off;
    return true;
}

void lx_psyms_free(struct lx_psyms *s)
{
    free(s->addr);
    free(s->name);
    free(s->pool.p);
    memset(s, 0, sizeof(*s));
}

bool lx_psyms_find(const struct lx_psyms *s, const char *name, uint64_t *addr)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (!strcmp(lx_psym_name(s, i), name)) {
            *addr = s->addr[i];
            return true;
        }
    return false;
}

/* ---- layouts ----------------------------------------------------------------- */

bool lx_ptypes_add_type(struct lx_ptypes *t, const char *name, size_t len,
                        uint64_t size)
{
    uint32_t off;

    if (!grow((void **)&t->type, &t->type_cap, sizeof(*t->type), t->ntypes + 1,
              LX_PROFILE_MAX_TYPES) ||
        !lx_pool_add(&t->pool, name, len, &off))
        return false;
    t->type[t->ntypes++] = (struct lx_ptype){
        .name = off, .first = t->nfields, .size = size,
    };
    return true;
}

bool lx_ptypes_add_field(struct lx_ptypes *t, const char *name, size_t len,
                         uint64_t offset, uint32_t flags,
                         const struct lx_ptype_ref *type)
{
    uint32_t off, toff = 0;

    if (!t->ntypes ||
        !grow((void **)&t->field, &t->field_cap, sizeof(*t->field),
              t->nfields + 1, LX_PROFILE_MAX_FIELDS) ||
        !lx_pool_add(&t->pool, name, len, &off) ||
        (type->name_len &&
         !lx_pool_add(&t->pool, type->name, type->name_len, &toff)))
        return false;
    t->field[t->nfields++] = (struct lx_pfield){
        .name = off, .type_name = toff, .offset = offset, .flags = flags,
        .elems = type->elems, .count = type->count, .leaf = type->leaf,
        .bit = type->bit, .width = type->width,
    };
    t->type[t->ntypes - 1].nfields++;
    return true;
}

/* qsort has no context: sort (name, index) pairs. */
struct named {
    const char *name;
    uint32_t i;
};

static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

bool lx_ptypes_finish(struct lx_ptypes *t)
{
    struct named *v;

    free(t->by_name);
    t->by_name = NULL;
    if (!t->ntypes)
        return true;
    v = malloc(sizeof(*v) * t->ntypes);
    t->by_name = malloc(sizeof(*t->by_name) * t->ntypes);
    if (!v || !t->by_name) {
        free(v);
        return false;
    }
    for (uint32_t i = 0; i < t->ntypes; i++)
        v[i] = (struct named){ lx_pool_str(&t->pool, t->type[i].name), i };
    qsort(v, t->ntypes, sizeof(*v), named_cmp);
    for (uint32_t i = 0; i < t->ntypes; i++)
        t->by_name[i] = v[i].i;
    free(v);
    return true;
}

void lx_ptypes_free(struct lx_ptypes *t)
{
    free(t->type);
    free(t->field);
    free(t->by_name);
    free(t->pool.p);
    memset(t, 0, sizeof(*t));
}

const struct lx_ptype *lx_ptypes_find(const struct lx_ptypes *t,
                                      const char *name)
{
    uint32_t lo = 0, hi = t->by_name ? t->ntypes : 0;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(lx_pool_str(&t->pool, t->type[t->by_name[mid]].name), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < (t->by_name ? t->ntypes : 0) &&
        !strcmp(lx_pool_str(&t->pool, t->type[t->by_name[lo]].name), name))
        return &t->type[t->by_name[lo]];
    return NULL;
}

#define NEST_MAX 8 /* anonymous members inside anonymous members */
/* Fields one lookup may visit: anonymous types can repeat each other, so
 * depth alone would still allow fan-out to the power NEST_MAX. */
#define VISIT_MAX (1u << 16)

static const struct lx_pfield *find_field(const struct lx_ptypes *t,
                                          const struct lx_ptype *ty,
                                          const char *member, int depth,
                                          uint32_t *budget, uint64_t *off)
{
    for (uint32_t i = 0; i < ty->nfields && *budget; i++) {
        const struct lx_pfield *f = &t->field[ty->first + i], *r;
        const struct lx_ptype *sub;

        --*budget;
        if (!strcmp(lx_pool_str(&t->pool, f->name), member)) {
            *off = f->offset;
            return f;
        }
        if (!(f->flags & LX_PF_ANON) || depth >= NEST_MAX || !f->type_name)
            continue;
        sub = lx_ptypes_find(t, lx_pool_str(&t->pool, f->type_name));
        if (sub && (r = find_field(t, sub, member, depth + 1, budget, off))) {
            *off += f->offset;
            return r;
        }
    }
    return NULL;
}

const struct lx_pfield *lx_ptypes_member(const struct lx_ptypes *t,
                                         const char *st, const char *member,
                                         uint64_t *off)
{
    const struct lx_ptype *ty = lx_ptypes_find(t, st);
    uint32_t budget = VISIT_MAX;

    return ty ? find_field(t, ty, member, 0, &budget, off) : NULL;
}

int lx_ptypes_offset(const struct lx_ptypes *t, const char *st,
                     const char *member, uint64_t *off)
{
    const struct lx_pfield *f = lx_ptypes_member(t, st, member, off);

    if (!f)
        return 0;
    return f->flags & LX_PF_BITFIELD ? -1 : 1;
}

static void each_field(const struct lx_ptypes *t, const struct lx_ptype *ty,
                       uint64_t base, int depth, uint32_t *budget,
                       lx_field_fn fn, void *arg)
{
    for (uint32_t i = 0; i < ty->nfields && *budget; i++) {
        const struct lx_pfield *f = &t->field[ty->first + i];
        const struct lx_ptype *sub;

        --*budget;
        if (!(f->flags & LX_PF_ANON)) {
            fn(lx_pool_str(&t->pool, f->name), base + f->offset, f->flags, arg);
            continue;
        }
        sub = f->type_name ? lx_ptypes_find(t, lx_pool_str(&t->pool, f->type_name))
                           : NULL;
        if (sub && depth < NEST_MAX)
            each_field(t, sub, base + f->offset, depth + 1, budget, fn, arg);
    }
}

void lx_ptypes_each(const struct lx_ptypes *t, const char *st, lx_field_fn fn,
                    void *arg)
{
    const struct lx_ptype *ty = lx_ptypes_find(t, st);
    uint32_t budget = VISIT_MAX;

    if (ty)
        each_field(t, ty, 0, 0, &budget, fn, arg);
}
