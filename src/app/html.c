/* html.c: the pieces of the self-contained HTML reports (scan, risk). */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void
html_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

void
html_head(FILE *f, const char *title)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n<title>", f);
	html_escape(f, title);
	fputs("</title>\n<style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}\n"
	    "h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\n"
	    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\n"
	    "th{background:#f2f2f2}code{font-size:.92em}.muted{color:#666}.ok{color:#176b1f}.bad{color:#a31515}\n"
	    ".file{margin:1.2em 0;padding:.6em 1em;border:1px solid #ddd;border-radius:6px}\n"
	    ".thumb{position:relative;display:inline-block;margin:.4em 0}.thumb img{display:block;image-rendering:pixelated}\n"
	    ".thumb svg{position:absolute;left:0;top:0;width:100%;height:100%}\n"
	    ".bar{fill:#4a78b5}.box{fill:none;stroke:#e0301e;stroke-width:2;vector-effect:non-scaling-stroke}\n"
	    "</style></head><body>\n<h1>", f);
	html_escape(f, title);
	fprintf(f, "</h1>\n<p class=\"muted\">pacsvault %s, %s. Values are masked; no value is shown whole.</p>\n",
	    PV_VERSION, when);
}

void
html_tail(FILE *f)
{
	fputs("</body></html>\n", f);
}
