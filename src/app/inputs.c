/* inputs.c: the input files of a batch command, mirrored under an output folder. */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
app_inputs_add(struct app_inputs *r, const char *in, const char *out)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		struct app_input *n = pv_reallocarray(r->v, ncap, sizeof(*n));
		if (n == NULL)
			return PV_ENOMEM;
		r->v = n;
		r->cap = ncap;
	}
	r->v[r->n].in = pv_strdup(in);
	r->v[r->n].out = pv_strdup(out);
	r->v[r->n].walked = 0;
	{
		const char *slash = strrchr(in, '/');
		r->v[r->n].rel = slash != NULL && slash[1] != '\0' ? (size_t)(slash + 1 - in) : 0;
	}
	if (r->v[r->n].in == NULL || r->v[r->n].out == NULL) {
		free(r->v[r->n].in);
		free(r->v[r->n].out);
		return PV_ENOMEM;
	}
	r->n++;
	return 0;
}

/* A walk of input folders: who reports, what failed, the folders seen (links are followed once). */
struct walk {
	const char *cmd;
	int *failed;
	size_t root_len;   /* length of the named folder's path and its '/' */
	struct { dev_t dev; ino_t ino; } *seen;
	size_t nseen, capseen;
};

/* 1 when the folder was walked already (a link loop, or a second link to it); else records it. */
static int
seen_before(struct walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return 1;
	if (w->nseen == w->capseen) {
		size_t nc = w->capseen ? w->capseen * 2 : 64;
		void *n = pv_reallocarray(w->seen, nc, sizeof(*w->seen));
		if (n == NULL)
			return 0;
		w->seen = n;
		w->capseen = nc;
	}
	w->seen[w->nseen].dev = st->st_dev;
	w->seen[w->nseen].ino = st->st_ino;
	w->nseen++;
	return 0;
}

/*
 * Adds every regular file under dir (sorted, recursively) mirrored under
 * out. A folder that cannot be read is reported with its real error and
 * counted in *w->failed, and the walk goes on (issue #15). Symbolic links
 * are followed, each folder once: a link to a folder already walked (a
 * loop) is reported and skipped, and so is a link to nothing.
 */
static int
add_tree(struct app_inputs *r, struct walk *w, const char *dir, const char *out, unsigned depth)
{
	struct dirent **names = NULL;
	struct stat dst;
	int n, rc = 0;

	if (depth > 64) {
		fprintf(stderr, "pacsvault: %s: %s: folders nested deeper than 64: not walked\n", w->cmd, dir);
		(*w->failed)++;
		return 0;
	}
	if (stat(dir, &dst) == 0 && seen_before(w, &dst)) {
		fprintf(stderr, "pacsvault: %s: %s: walked already (a symbolic link loop, or a second link to it): "
		    "skipped\n", w->cmd, dir);
		return 0;
	}
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "pacsvault: %s: %s: cannot list the folder: %s\n", w->cmd, dir, strerror(errno));
		(*w->failed)++;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char in_path[PATH_MAX], out_path[PATH_MAX];
		struct stat st;
		const char *name = names[i]->d_name;
		if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			if ((size_t)snprintf(in_path, sizeof(in_path), "%s/%s", dir, name) >= sizeof(in_path) ||
			    (size_t)snprintf(out_path, sizeof(out_path), "%s/%s", out, name) >= sizeof(out_path)) {
				fprintf(stderr, "pacsvault: %s: %s/...: a path longer than %d bytes: skipped\n", w->cmd, dir,
				    PATH_MAX);
				(*w->failed)++;
			} else {
				/* The entry's type from the directory itself where the file
				 * system gives it; a symbolic link by what it points to. */
				unsigned char t = names[i]->d_type;
				if (t == DT_UNKNOWN || t == DT_LNK) {
					int link = t == DT_LNK;
					if (stat(in_path, &st) != 0) {
						if (link || lstat(in_path, &st) == 0)
							fprintf(stderr, "pacsvault: %s: %s: a symbolic link to nothing: skipped\n",
							    w->cmd, in_path);
						t = DT_UNKNOWN;
					} else {
						t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
					}
				}
				if (t == DT_DIR)
					rc = add_tree(r, w, in_path, out_path, depth + 1);
				else if (t == DT_REG && (rc = app_inputs_add(r, in_path, out_path)) == 0) {
					r->v[r->n - 1].walked = 1;
					r->v[r->n - 1].rel = w->root_len;  /* the folders below the named one, and the name */
				}
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* 1 when child is parent or inside it (both resolved). */
static int
path_inside(const char *child, const char *parent)
{
	size_t n = strlen(parent);
	return strncmp(child, parent, n) == 0 &&
	    (child[n] == '\0' || child[n] == '/' || (n == 1 && parent[0] == '/'));
}

/*
 * The real path path will have once created: the real path of its longest
 * existing prefix (links resolved) and the rest as written. 0, or -1.
 */
static int
future_realpath(const char *path, char out[PATH_MAX])
{
	char head[PATH_MAX];
	size_t n = strlen(path), cut;

	if (n == 0 || n >= sizeof(head))
		return -1;
	memcpy(head, path, n + 1);
	for (cut = n;;) {
		if (realpath(head, out) != NULL) {
			size_t ol = strlen(out);
			if (cut < n) {
				if (ol + 1 + (n - cut) >= PATH_MAX)
					return -1;
				if (ol > 1 || out[0] != '/')
					out[ol++] = '/';
				memcpy(out + ol, path + cut + (path[cut] == '/'), n - cut - (path[cut] == '/') + 1);
			}
			return 0;
		}
		while (cut > 0 && head[cut - 1] == '/')
			cut--;
		while (cut > 0 && head[cut - 1] != '/')
			cut--;
		if (cut == 0) {
			/* nothing of it exists: relative to the current folder */
			if (getcwd(out, PATH_MAX) == NULL || strlen(out) + 1 + n >= PATH_MAX)
				return -1;
			strcat(out, "/");
			strcat(out, path);
			return 0;
		}
		head[cut - 1 > 0 ? cut - 1 : cut] = '\0';
		cut = cut - 1 > 0 ? cut - 1 : cut;
	}
}

int
app_inputs_collect(struct app_inputs *r, const char *cmd, char **paths, int npaths, const char *outdir,
    int *failed)
{
	struct walk w = { cmd, failed, 0, NULL, 0, 0 };
	char out_real[PATH_MAX];
	int rc;

	if (outdir == NULL) {
		/* no output: each input is listed as its own "output" */
		for (int i = 0; i < npaths; i++) {
			struct stat st;
			if (stat(paths[i], &st) != 0) {
				fprintf(stderr, "pacsvault: %s: %s: %s\n", cmd, paths[i], strerror(errno));
				(*failed)++;
				continue;
			}
			w.root_len = strlen(paths[i]) + (paths[i][strlen(paths[i]) - 1] != '/');
			rc = S_ISDIR(st.st_mode) ? add_tree(r, &w, paths[i], paths[i], 0) :
			    app_inputs_add(r, paths[i], paths[i]);
			if (rc != 0) {
				fprintf(stderr, "pacsvault: %s: %s: cannot list: %s\n", cmd, paths[i], pv_strerror(rc));
				(*failed)++;
			}
		}
		free(w.seen);
		return PV_EXIT_OK;
	}
	/* Refused before anything is created: an output folder that would lie
	 * inside an input, also through a symbolic link (issue #15). */
	if (future_realpath(outdir, out_real) == 0) {
		for (int i = 0; i < npaths; i++) {
			char in_real[PATH_MAX];
			struct stat st;
			if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode) && realpath(paths[i], in_real) != NULL &&
			    path_inside(out_real, in_real)) {
				free(w.seen);
				return app_usage_error(cmd, "the output folder %s is inside the input %s", outdir, paths[i]);
			}
		}
	}
	if (pv_mkdir_p(outdir, 0755) != 0 || realpath(outdir, out_real) == NULL) {
		fprintf(stderr, "pacsvault: %s: %s: cannot create the output folder: %s\n", cmd, outdir, strerror(errno));
		free(w.seen);
		return PV_EXIT_FAIL;
	}
	for (int i = 0; i < npaths; i++) {
		char in_real[PATH_MAX], outp[PATH_MAX];
		struct stat st;
		const char *base;
		if (stat(paths[i], &st) != 0 || realpath(paths[i], in_real) == NULL) {
			fprintf(stderr, "pacsvault: %s: %s: %s\n", cmd, paths[i], strerror(errno));
			(*failed)++;
			continue;
		}
		if (S_ISDIR(st.st_mode) && path_inside(out_real, in_real)) {
			free(w.seen);
			return app_usage_error(cmd, "the output folder %s is inside the input %s", outdir, paths[i]);
		}
		base = strrchr(in_real, '/');
		base = base != NULL && base[1] != '\0' ? base + 1 : in_real;
		if ((size_t)snprintf(outp, sizeof(outp), "%s/%s", out_real, base) >= sizeof(outp)) {
			(*failed)++;
			continue;
		}
		w.root_len = strlen(paths[i]) + (paths[i][strlen(paths[i]) - 1] != '/');
		rc = S_ISDIR(st.st_mode) ? add_tree(r, &w, paths[i], outp, 0) : app_inputs_add(r, paths[i], outp);
		if (rc != 0) {
			fprintf(stderr, "pacsvault: %s: %s: cannot list: %s\n", cmd, paths[i], pv_strerror(rc));
			(*failed)++;
		}
	}
	/*
	 * Only an output path that exists already can be an input. Outputs come
	 * folder by folder: a folder that does not exist holds none of them, and
	 * is looked up once instead of once per file (1,000 failed lookups of a
	 * batch into a new folder cost several milliseconds).
	 */
	{
		char dir[PATH_MAX] = "";
		int dir_exists = 0;
		for (size_t i = 0; i < r->n; i++) {
			char in_real[PATH_MAX];
			struct stat st;
			const char *o = r->v[i].out, *slash = strrchr(o, '/');
			size_t dl = slash != NULL ? (size_t)(slash - o) : 0;
			if (dl > 0 && dl < sizeof(dir) && (strncmp(dir, o, dl) != 0 || dir[dl] != '\0')) {
				memcpy(dir, o, dl);
				dir[dl] = '\0';
				dir_exists = lstat(dir, &st) == 0;
			}
			if (dl > 0 && dl < sizeof(dir) && !dir_exists)
				continue;
			if (lstat(o, &st) == 0 && realpath(r->v[i].in, in_real) != NULL && strcmp(in_real, o) == 0) {
				free(w.seen);
				return app_usage_error(cmd, "an output would replace its input: %s", r->v[i].in);
			}
		}
	}
	free(w.seen);
	return PV_EXIT_OK;
}

void
app_inputs_free(struct app_inputs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].in);
		free(r->v[i].out);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}
