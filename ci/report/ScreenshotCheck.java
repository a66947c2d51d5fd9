import java.awt.image.BufferedImage;
import java.io.File;
import javax.imageio.ImageIO;

/**
 * ci/check-report's judge of a browser screenshot of report.html: not blank (enough pixels drawn) and
 * the charts' blue present (the embedded PNGs were decoded and shown, not broken-image boxes).
 * Usage: java ScreenshotCheck.java shot.png
 */
public class ScreenshotCheck {
    public static void main(String[] args) throws Exception {
        BufferedImage shot = ImageIO.read(new File(args[0]));
        if (shot == null) fail(args[0] + " is not an image");
        long inked = 0, blue = 0, total = (long) shot.getWidth() * shot.getHeight();
        for (int y = 0; y < shot.getHeight(); y++) {
            for (int x = 0; x < shot.getWidth(); x++) {
                int rgb = shot.getRGB(x, y) & 0xffffff, r = rgb >> 16, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
                if (rgb != 0xffffff) inked++;
                // the charts' #1f77b4, with anti-aliasing and scaling tolerance
                if (Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40) blue++;
            }
        }
        System.out.printf("screenshot %dx%d: %.1f %% of pixels drawn, %d chart-blue pixels%n", shot.getWidth(), shot.getHeight(),
                100.0 * inked / total, blue);
        if (inked < total / 50) fail("the page looks blank (under 2 % of pixels drawn)");
        if (blue < 500) fail("no chart lines visible (the embedded PNGs did not render)");
    }

    private static void fail(String message) {
        System.err.println("check-report: " + message);
        System.exit(1);
    }
}
