/*
 * node: the inode table (see node.h).  A chained hash on (dev, ino),
 * doubled when it gets full; nodes are freed when the kernel forgets them
 * and no child or alias names them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "util.h"

#define FUSE_ROOT_NODE_ID 1

/* node_lock guards everything below and every field of every node. */
static pthread_rwlock_t node_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct node **node_buckets;
static struct node **node_names; /* the name index: as many buckets */
static size_t node_n_buckets;
static size_t node_count;
static struct node node_root_node;

static size_t
node_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	return (size_t)h & (node_n_buckets - 1);
}

static struct node *
node_find(dev_t dev, ino_t ino)
{
	struct node *n;

	for (n = node_buckets[node_hash(dev, ino)]; n != NULL; n = n->hnext)
		if (n->key_ino == ino && n->key_dev == dev)
			return n;
	return NULL;
}

static size_t
node_name_hash(const struct node *parent, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)(uintptr_t)parent;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	h ^= h >> 31;
	return (size_t)h & (node_n_buckets - 1);
}

static struct node *
node_name_find(const struct node *parent, const char *name)
{
	struct node *n;

	for (n = node_names[node_name_hash(parent, name)]; n != NULL;
	     n = n->nnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void
node_name_insert(struct node *n)
{
	size_t h;

	if (n->is_named || n->parent == NULL)
		return;
	h = node_name_hash(n->parent, n->name);
	n->nnext = node_names[h];
	node_names[h] = n;
	n->is_named = 1;
}

static void
node_name_remove(struct node *n)
{
	struct node **pp;

	if (!n->is_named)
		return;
	for (pp = &node_names[node_name_hash(n->parent, n->name)]; *pp != NULL;
	     pp = &(*pp)->nnext) {
		if (*pp == n) {
			*pp = n->nnext;
			n->is_named = 0;
			return;
		}
	}
}

static void
node_grow(void)
{
	struct node **old = node_buckets, *n, *next;
	size_t i, old_n = node_n_buckets;

	node_n_buckets = old_n * 2;
	node_buckets = xcalloc(node_n_buckets, sizeof *node_buckets);
	free(node_names);
	node_names = xcalloc(node_n_buckets, sizeof *node_names);
	for (i = 0; i < old_n; i++) {
		for (n = old[i]; n != NULL; n = next) {
			size_t h = node_hash(n->key_dev, n->key_ino);

			next = n->hnext;
			n->hnext = node_buckets[h];
			node_buckets[h] = n;
			if (n->is_named) {
				n->is_named = 0;
				node_name_insert(n);
			}
		}
	}
	free(old);
}

static void
node_hash_insert(struct node *n)
{
	size_t h;

	if (node_count + 1 > node_n_buckets)
		node_grow();
	h = node_hash(n->key_dev, n->key_ino);
	n->hnext = node_buckets[h];
	node_buckets[h] = n;
	n->is_hashed = 1;
	node_count++;
}

static void
node_hash_remove(struct node *n)
{
	struct node **pp;

	if (!n->is_hashed)
		return;
	for (pp = &node_buckets[node_hash(n->key_dev, n->key_ino)]; *pp != NULL;
	     pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			n->is_hashed = 0;
			node_count--;
			return;
		}
	}
}

void
node_table_init(dev_t dev, ino_t ino)
{
	node_n_buckets = 1024;
	node_buckets = xcalloc(node_n_buckets, sizeof *node_buckets);
	node_names = xcalloc(node_n_buckets, sizeof *node_names);
	memset(&node_root_node, 0, sizeof node_root_node);
	node_root_node.name = xstrdup("");
	node_root_node.key_dev = dev;
	node_root_node.key_ino = ino;
	node_root_node.ino = FUSE_ROOT_NODE_ID;
	node_root_node.nlookup = 1;
	node_root_node.is_dir = 1;
	node_root_node.is_upper = 1;
	node_root_node.lower_visible = 1;
	node_root_node.is_pinned = 1;
}

struct node *
node_root(void)
{
	return &node_root_node;
}

struct node *
node_from_id(uint64_t id)
{
	if (id == FUSE_ROOT_NODE_ID)
		return &node_root_node;
	return (struct node *)(uintptr_t)id;
}

uint64_t
node_id(const struct node *n)
{
	if (n == &node_root_node)
		return FUSE_ROOT_NODE_ID;
	return (uint64_t)(uintptr_t)n;
}

/* Free n and, in turn, any parent it was the last holder of.  Lock held. */
static void
node_release(struct node *n)
{
	struct node *parent;
	struct node_alias *a;

	while (n != NULL && n != &node_root_node && n->nlookup == 0 &&
	    n->n_refs == 0 && !n->is_pinned) {
		node_hash_remove(n);
		node_name_remove(n);
		while ((a = n->aliases) != NULL) {
			n->aliases = a->next;
			a->parent->n_refs--;
			node_release(a->parent);
			free(a->name);
			free(a);
		}
		parent = n->parent;
		free(n->name);
		free(n);
		if (parent == NULL)
			break;
		parent->n_refs--;
		n = parent;
	}
}

static int
node_has_name(const struct node *n, const struct node *parent, const char *name)
{
	const struct node_alias *a;

	if (n->parent == parent && strcmp(n->name, name) == 0)
		return 1;
	for (a = n->aliases; a != NULL; a = a->next)
		if (a->parent == parent && strcmp(a->name, name) == 0)
			return 1;
	return 0;
}

static void
node_add_alias(struct node *n, struct node *parent, const char *name)
{
	struct node_alias *a = xmalloc(sizeof *a);

	a->parent = parent;
	a->name = xstrdup(name);
	a->next = n->aliases;
	n->aliases = a;
	parent->n_refs++;
}

struct node *
node_ref(struct node *parent, const char *name, dev_t dev, ino_t ino,
    uint64_t report_ino, const struct node_state *st)
{
	struct node *n;

	pthread_rwlock_wrlock(&node_lock);
	/* the node the kernel knows at this name, if any, is the one */
	n = node_name_find(parent, name);
	if (n != NULL) {
		if ((n->key_dev != dev || n->key_ino != ino) &&
		    node_find(dev, ino) == NULL) {
			/* the same place, now backed by another file (a
			 * directory rename copied it up) */
			node_hash_remove(n);
			n->key_dev = dev;
			n->key_ino = ino;
			node_hash_insert(n);
		}
	} else if ((n = node_find(dev, ino)) != NULL) {
		/* another name of a known file: a hard link */
		if (!n->is_dir && !node_has_name(n, parent, name))
			node_add_alias(n, parent, name);
	}
	if (n != NULL) {
		n->nlookup++;
		if (n->is_dir) {
			n->is_upper = n->is_upper || st->is_upper;
			n->lower_visible = st->lower_visible;
		}
		goto out;
	}
	n = xcalloc(1, sizeof *n);
	n->parent = parent;
	n->name = xstrdup(name);
	n->key_dev = dev;
	n->key_ino = ino;
	n->ino = report_ino;
	n->nlookup = 1;
	n->is_dir = st->is_dir;
	n->is_upper = st->is_upper;
	n->lower_visible = st->lower_visible;
	parent->n_refs++;
	node_hash_insert(n);
	node_name_insert(n);
out:
	pthread_rwlock_unlock(&node_lock);
	return n;
}

int
node_child_ino(struct node *parent, const char *name, uint64_t *ino)
{
	struct node *n;

	pthread_rwlock_rdlock(&node_lock);
	n = node_name_find(parent, name);
	if (n != NULL)
		*ino = n->ino;
	pthread_rwlock_unlock(&node_lock);
	return n != NULL;
}

struct node *
node_child(struct node *parent, const char *name)
{
	struct node *n;

	pthread_rwlock_rdlock(&node_lock);
	n = node_name_find(parent, name);
	pthread_rwlock_unlock(&node_lock);
	return n;
}

void
node_forget(struct node *n, uint64_t nlookup)
{
	pthread_rwlock_wrlock(&node_lock);
	if (n->nlookup < nlookup)
		n->nlookup = 0;
	else
		n->nlookup -= nlookup;
	node_release(n);
	pthread_rwlock_unlock(&node_lock);
}

int
node_path(struct node *n, const char *name, char *buf, size_t len,
    struct node_state *st)
{
	const struct node *p;
	size_t total = 0, nlen, pos;
	int ret;

	pthread_rwlock_rdlock(&node_lock);
	if (n->parent == NULL && n != &node_root_node) {
		ret = -ESTALE;
		goto out;
	}
	/* First the length, then fill from the end. */
	for (p = n; p != &node_root_node; p = p->parent)
		total += strlen(p->name) + (p->parent != &node_root_node);
	if (name != NULL)
		total += strlen(name) + (total > 0);
	if (total + 1 > len) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	pos = total;
	buf[pos] = '\0';
	if (name != NULL) {
		nlen = strlen(name);
		pos -= nlen;
		memcpy(buf + pos, name, nlen);
		if (pos > 0)
			buf[--pos] = '/';
	}
	for (p = n; p != &node_root_node; p = p->parent) {
		nlen = strlen(p->name);
		pos -= nlen;
		memcpy(buf + pos, p->name, nlen);
		if (p->parent != &node_root_node)
			buf[--pos] = '/';
	}
	if (st != NULL) {
		st->ino = n->ino;
		st->is_dir = n->is_dir;
		st->is_upper = n->is_upper;
		st->lower_visible = n->lower_visible;
	}
	ret = (int)total;
out:
	pthread_rwlock_unlock(&node_lock);
	return ret;
}

void
node_set_upper(struct node *n, dev_t dev, ino_t ino)
{
	pthread_rwlock_wrlock(&node_lock);
	if (n != &node_root_node && (n->key_dev != dev || n->key_ino != ino) &&
	    node_find(dev, ino) == NULL) {
		node_hash_remove(n);
		n->key_dev = dev;
		n->key_ino = ino;
		node_hash_insert(n);
	}
	n->is_pinned = 1;
	/* copy-up made every directory above it in upper/ too */
	for (; n != NULL; n = n->parent)
		n->is_upper = 1;
	pthread_rwlock_unlock(&node_lock);
}

void
node_set_upper_dir(struct node *n)
{
	pthread_rwlock_wrlock(&node_lock);
	for (; n != NULL; n = n->parent)
		n->is_upper = 1;
	pthread_rwlock_unlock(&node_lock);
}

/* Remove parent/name from n's names.  Lock held. */
static void
node_drop_name(struct node *n, struct node *parent, const char *name)
{
	struct node_alias **ap, *a;
	struct node *old;

	for (ap = &n->aliases; (a = *ap) != NULL; ap = &a->next) {
		if (a->parent == parent && strcmp(a->name, name) == 0) {
			*ap = a->next;
			parent->n_refs--;
			free(a->name);
			free(a);
			return;
		}
	}
	if (n->parent != parent || strcmp(n->name, name) != 0)
		return;
	old = n->parent;
	node_name_remove(n);
	if ((a = n->aliases) != NULL) {
		/* promote a hard link's other name */
		n->aliases = a->next;
		n->parent = a->parent;
		free(n->name);
		n->name = a->name;
		free(a);
		node_name_insert(n);
	} else {
		/* stale: its backing file is gone and its inode number may
		 * be reused by a new file, so it leaves the key table */
		n->parent = NULL;
		node_hash_remove(n);
		n->is_pinned = 0;
	}
	old->n_refs--;
	/* old is still referenced by the kernel (it is the directory of the
	 * request), so it cannot be released here. */
}

void
node_unlink(struct node *parent, const char *name, dev_t dev, ino_t ino)
{
	struct node *n;

	pthread_rwlock_wrlock(&node_lock);
	n = node_name_find(parent, name);
	if (n == NULL && (n = node_find(dev, ino)) != NULL &&
	    !node_has_name(n, parent, name))
		n = NULL;
	if (n != NULL && n != &node_root_node) {
		node_drop_name(n, parent, name);
		node_release(n);
	}
	pthread_rwlock_unlock(&node_lock);
}

static int
node_is_below(const struct node *n, const struct node *dir)
{
	for (n = n->parent; n != NULL; n = n->parent)
		if (n == dir)
			return 1;
	return 0;
}

/* n's name parent/name becomes newparent/newname (see node_rename()).
 * Lock held. */
static void
node_move(struct node *n, struct node *parent, const char *name,
    struct node *newparent, const char *newname, int is_opaque_tree)
{
	struct node *m;
	size_t i;

	if (n == &node_root_node || !node_has_name(n, parent, name))
		return;
	if (n->parent == parent && strcmp(n->name, name) == 0) {
		node_name_remove(n);
		free(n->name);
		n->name = xstrdup(newname);
		n->parent = newparent;
		node_name_insert(n);
		newparent->n_refs++;
		parent->n_refs--;
	} else {
		node_drop_name(n, parent, name);
		node_add_alias(n, newparent, newname);
	}
	if (is_opaque_tree) {
		n->is_upper = 1;
		n->lower_visible = 0;
		for (i = 0; i < node_n_buckets; i++) {
			for (m = node_buckets[i]; m != NULL; m = m->hnext) {
				if (!node_is_below(m, n))
					continue;
				m->is_upper = 1;
				m->lower_visible = 0;
			}
		}
	}
}

void
node_rename(struct node *n, struct node *parent, const char *name,
    struct node *newparent, const char *newname, int is_opaque_tree)
{
	pthread_rwlock_wrlock(&node_lock);
	node_move(n, parent, name, newparent, newname, is_opaque_tree);
	pthread_rwlock_unlock(&node_lock);
}

void
node_exchange(struct node *a, struct node *aparent, const char *aname,
    struct node *b, struct node *bparent, const char *bname, int is_a_tree,
    int is_b_tree)
{
	pthread_rwlock_wrlock(&node_lock);
	if (a != b) {
		/* for a moment both are indexed under bparent/bname: the
		 * index removes by node, never by name, so the second move
		 * takes b out and no lookup runs in between (lock held) */
		node_move(a, aparent, aname, bparent, bname, is_a_tree);
		node_move(b, bparent, bname, aparent, aname, is_b_tree);
	}
	pthread_rwlock_unlock(&node_lock);
}
